resource "terraform_data" "a" {
  input   = "x"
  nonsuch = 1
}
