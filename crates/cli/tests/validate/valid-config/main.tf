variable "names" {
  type    = list(string)
  default = ["a", "b"]
}

locals {
  upper = [for n in var.names : upper(n)]
}

resource "terraform_data" "each" {
  for_each = toset(var.names)
  input    = each.value
}

output "upper" {
  value = local.upper
}
