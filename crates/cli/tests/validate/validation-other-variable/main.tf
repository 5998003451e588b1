variable "a" {
  type = string

  validation {
    condition     = length(var.a) > 0
    error_message = "Must not be empty."
  }
}

variable "b" {
  type    = string
  default = "x"

  validation {
    condition     = var.b != ""
    error_message = "no"
  }
}
