variable "pw" {
  type      = string
  default   = "hunter2"
  sensitive = true
}
resource "terraform_data" "a" {
  input = { user = "u", pw = var.pw }
}
output "pw" {
  value     = terraform_data.a.output.pw
  sensitive = true
}
