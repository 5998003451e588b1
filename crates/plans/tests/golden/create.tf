variable "v" {
  type    = string
  default = "hello"
}
resource "terraform_data" "a" {
  input = { name = var.v, list = [1, 2], nested = { x = true } }
}
resource "terraform_data" "b" {
  count = 2
  input = terraform_data.a.output
  triggers_replace = count.index
}
output "o" {
  value = terraform_data.a.id
}
output "s" {
  value     = var.v
  sensitive = true
}
