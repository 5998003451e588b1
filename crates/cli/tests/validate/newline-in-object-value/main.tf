# Inside an object constructor (and a body) a newline ends the value, so a conditional broken
# after `?` is an error.
locals {
  a = {
    b = true ?
    1 : 2
  }
}
