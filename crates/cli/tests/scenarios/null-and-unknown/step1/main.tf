resource "terraform_data" "a" {}

output "was_set" {
  value = "x"
}
