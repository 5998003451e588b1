variable "a" {}

variable "a" {}
