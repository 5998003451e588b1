resource "terraform_data" "a" {
  input            = "x"
  triggers_replace = 2
  lifecycle {
    create_before_destroy = true
  }
}
