variable "a" {
  type = stringg
}
