terraform {
  provider_meta "terraform" {
    a = var.x
    b = upper("x")
    c = "${local.l}-c"
  }
}

variable "x" {
  default = "y"
}

locals {
  l = "z"
}

resource "terraform_data" "a" {}
