variable "prefix" {
  type = string
}

resource "terraform_data" "a" {
  input = "${var.prefix}a"
}

resource "terraform_data" "b" {
  input = "${var.prefix}b"
}

output "names" {
  value = [terraform_data.a.output, terraform_data.b.output]
}
