# The next plan destroys the deposed object alongside the changes that depend on a.
resource "terraform_data" "a" {
  input            = "2"
  triggers_replace = "2"
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
