variable "names" {
  type = list(string)
}
resource "terraform_data" "net" {
  for_each = toset(var.names)
  input    = "net-${each.key}"
}
output "ids" {
  value = { for k, r in terraform_data.net : k => r.id }
}
output "tags" {
  value = { for k, r in terraform_data.net : k => r.output }
}
