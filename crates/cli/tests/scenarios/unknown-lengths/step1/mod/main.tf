variable "names" {
  type = list(string)
}

resource "terraform_data" "sorted" {
  input = sort(var.names)
}

resource "terraform_data" "distinct" {
  input = distinct(var.names)
}

resource "terraform_data" "lengths" {
  input = {
    sorted   = length(sort(var.names))
    distinct = length(distinct(var.names))
    names    = length(var.names)
  }
}

output "sorted_length" {
  value = length(sort(var.names))
}
