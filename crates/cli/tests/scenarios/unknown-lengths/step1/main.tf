# Lists of values known only after apply keep their known length through a typed module
# variable and functions that cannot change it (cty's length refinements).
module "src" {
  source = "./src"
  prefix = "p"
}

module "m" {
  source = "./mod"
  names  = module.src.names
}

output "sorted_length" {
  value = module.m.sorted_length
}
