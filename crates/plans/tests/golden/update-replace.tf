variable "v" {
  type    = string
  default = "hello2"
}
resource "terraform_data" "a" {
  input = { name = var.v, list = [1, 3, 4], nested = { x = true }, multi = "line1\nline2\n" }
}
resource "terraform_data" "b" {
  count = 2
  input = "static"
  triggers_replace = count.index + 1
}
output "o" {
  value = terraform_data.a.id
}
output "s" {
  value     = var.v
  sensitive = true
}
