output "x" {
  value = terraform_data.nope.output
}
