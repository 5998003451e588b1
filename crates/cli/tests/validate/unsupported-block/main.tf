resource "terraform_data" "a" {
  input = "x"

  nested {
    a = 1
  }
}
