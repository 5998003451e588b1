# A file comment


/* block
   comment */
resource "terraform_data" "a" {
  input = "a" # one
  triggers_replace = ["b"] # two
  # standalone
  output_x = 1
}

	resource "terraform_data" "tabbed" {
	input = 1
	}
