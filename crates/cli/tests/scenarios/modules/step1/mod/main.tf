variable "name" {
  type = string
}
resource "terraform_data" "r" {
  input = var.name
}
output "input" {
  value = terraform_data.r.output
}
