variable "n" {
  type    = number
  default = "x"
}

output "a" {
  value = var.missing
}

output "b" {
  value = local.missing
}

resource "terraform_data" "r" {
  bogus = true
}
