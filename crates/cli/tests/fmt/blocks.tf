terraform{
required_version=">= 1.5"
  required_providers {
      aws = { source="hashicorp/aws", version = "~> 5.0" }
  }
}
provider aws {
region="us-east-1"   # the region
    default_tags {
  tags = {team="platform",   env = "dev"}
    }
}
resource aws_s3_bucket "b" {
bucket="x" // bucket name
force_destroy   =   true
  tags = {
    Name   =   "n"    # the name
    "Cost-Center" = "42"
  }

lifecycle { prevent_destroy = true }
}
data "aws_caller_identity" "me" {}
data "aws_region" "r" { }
module "m" {
  source = "./m"
    count = 2
}
