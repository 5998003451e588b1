# The replacement of a is created, then its postcondition fails: the old object stays deposed.
resource "terraform_data" "a" {
  input            = "2"
  triggers_replace = "2"
  lifecycle {
    create_before_destroy = true
    postcondition {
      condition     = self.output == "never"
      error_message = "The new object is not acceptable."
    }
  }
}

resource "terraform_data" "b" {
  input            = terraform_data.a.output
  triggers_replace = terraform_data.a.output
  lifecycle {
    create_before_destroy = true
  }
}

resource "terraform_data" "c" {
  input = terraform_data.a.output
}

output "a" {
  value = terraform_data.a.output
}
