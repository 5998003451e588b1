resource "terraform_data" "a" {
  input            = "1"
  triggers_replace = "1"
  lifecycle {
    create_before_destroy = true
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
