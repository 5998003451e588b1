resource "terraform_data" "new" {
  input = "x"
}
moved {
  from = terraform_data.old
  to   = terraform_data.new
}
