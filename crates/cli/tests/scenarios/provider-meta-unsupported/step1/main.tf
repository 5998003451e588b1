# The built-in provider declares no provider_meta schema, so module metadata for it is an
# error for each of its resource instances (Terraform reports it while planning).
terraform {
  provider_meta "terraform" {
    module_name = "weir-scenarios"
  }
}

resource "terraform_data" "a" {}
