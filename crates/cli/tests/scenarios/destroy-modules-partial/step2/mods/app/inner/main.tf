variable "ids" {
  type = list(string)
}
resource "terraform_data" "leaf" {
  count = length(var.ids)
  input = var.ids[count.index]
}
output "ids" {
  value = terraform_data.leaf[*].id
}
