# A resource's configuration may not refer to the resource itself; Terraform rejects it while
# planning, before anything is created.
resource "terraform_data" "a" {
  input = {
    id   = terraform_data.a.id
    name = "a"
  }
}

resource "terraform_data" "keyed" {
  for_each = toset(["x", "y"])
  input    = each.key == "y" ? terraform_data.keyed["x"].output : terraform_data.keyed["x"].id
}

resource "terraform_data" "counted" {
  count = length(terraform_data.counted)
}

resource "terraform_data" "ok" {
  input = terraform_data.a.output
}
