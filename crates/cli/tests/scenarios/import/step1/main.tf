import {
  to = terraform_data.a
  id = "imported-id"
}
resource "terraform_data" "a" {
}
