# HCL ignores newlines inside parentheses, brackets, `for` expressions, function arguments,
# index brackets and interpolations (a widely used label module breaks a conditional inside an
# object `for` expression across lines).
locals {
  for_object = { for k in ["x"] : k => k == "x" ? "yes" :
  "no" }
  for_tuple = [for k in ["x"] : k == "x" ? 1 :
  2]
  for_lines = [for k in ["x"]:
    k
    if
    k != ""]
  tuple = [
    true ?
    1 : 2,
    1 +
    2
  ]
  parens = (true ?
  1 : 2)
  call = upper(
    "x"
  )
  interpolation = "${true ?
  1 : 2}"
  index = local.tuple[
    0
  ]
  object = { b = 1, c = 2
  }
  nested = {
    b = [1,
    2]
    c = 3 }
}
