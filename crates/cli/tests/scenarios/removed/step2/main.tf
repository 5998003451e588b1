resource "terraform_data" "b" {
  input = "y"
}
removed {
  from = terraform_data.a
  lifecycle {
    destroy = false
  }
}
