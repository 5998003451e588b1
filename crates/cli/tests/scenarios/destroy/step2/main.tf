resource "terraform_data" "a" {
  input = "x"
}
resource "terraform_data" "b" {
  count = 2
  input = terraform_data.a.output
}
output "o" {
  value = terraform_data.a.output
}
