# HCL points a failed call at its closing parenthesis when arguments are missing, and at
# `name(` when the call itself fails.
locals {
  calls = [upper(), element([], 0)]
}
