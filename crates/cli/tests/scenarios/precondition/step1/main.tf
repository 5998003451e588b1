variable "n" {
  type    = number
  default = 3
}
resource "terraform_data" "a" {
  input = var.n
  lifecycle {
    precondition {
      condition     = var.n > 5
      error_message = "n must be greater than 5."
    }
  }
}
