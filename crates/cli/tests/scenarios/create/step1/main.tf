variable "v" {
  type    = string
  default = "hello"
}
locals {
  names = ["a", "b"]
}
resource "terraform_data" "a" {
  input = { name = var.v, list = [1, 2], nested = { x = true } }
}
resource "terraform_data" "b" {
  count            = 2
  input            = terraform_data.a.output
  triggers_replace = count.index
}
resource "terraform_data" "c" {
  for_each = toset(local.names)
  input    = "${each.key}-${var.v}"
}
output "o" {
  value = terraform_data.a.id
}
output "s" {
  value     = var.v
  sensitive = true
}
output "names" {
  value = [for k, v in terraform_data.c : v.input]
}
