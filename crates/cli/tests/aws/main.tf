terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

variable "endpoint" {
  type = string
}

variable "subnet_count" {
  type    = number
  default = 2
}

variable "ingress_ports" {
  type    = list(number)
  default = [80, 443]
}

variable "team" {
  type    = string
  default = "platform"
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {
    ec2            = var.endpoint
    s3             = var.endpoint
    iam            = var.endpoint
    sts            = var.endpoint
    dynamodb       = var.endpoint
    kms            = var.endpoint
    secretsmanager = var.endpoint
    cloudwatchlogs = var.endpoint
    ecr            = var.endpoint
  }

  default_tags {
    tags = {
      team = var.team
    }
  }
}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
  tags = {
    Name = "weir-main"
  }
}

resource "aws_subnet" "private" {
  count      = var.subnet_count
  vpc_id     = aws_vpc.main.id
  cidr_block = cidrsubnet(aws_vpc.main.cidr_block, 8, count.index)
  tags = {
    Name = "private-${count.index}"
  }
}

resource "aws_security_group" "web" {
  name   = "web"
  vpc_id = aws_vpc.main.id

  dynamic "ingress" {
    for_each = var.ingress_ports
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }
  }
}

resource "aws_s3_bucket" "artifacts" {
  bucket = "weir-artifacts"
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  versioning_configuration {
    status = "Enabled"
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "read_artifacts" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.artifacts.arn}/*"]
  }
}

resource "aws_iam_role" "app" {
  name               = "weir-app"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "app" {
  name   = "read-artifacts"
  role   = aws_iam_role.app.id
  policy = data.aws_iam_policy_document.read_artifacts.json
}

resource "aws_dynamodb_table" "locks" {
  name         = "weir-locks"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"
  attribute {
    name = "LockID"
    type = "S"
  }
}

resource "aws_kms_key" "main" {
  description             = "weir main key"
  deletion_window_in_days = 7
}

resource "aws_secretsmanager_secret" "db" {
  name       = "weir-db"
  kms_key_id = aws_kms_key.main.arn
  recovery_window_in_days = 0
}

resource "aws_cloudwatch_log_group" "app" {
  name              = "/weir/app"
  retention_in_days = 14
}

resource "aws_ecr_repository" "app" {
  name = "weir-app"
}

output "vpc_id" {
  value = aws_vpc.main.id
}

output "subnet_ids" {
  value = aws_subnet.private[*].id
}

output "bucket_arn" {
  value = aws_s3_bucket.artifacts.arn
}

output "role_arn" {
  value = aws_iam_role.app.arn
}
