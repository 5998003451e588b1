  backend "s3" {
    bucket = "tfbucket"
    key    = "path/to/state.tfstate"
    region = "us-east-1"
    endpoints = { s3 = "http://127.0.0.1:45123", dynamodb = "http://127.0.0.1:45123", sts = "http://127.0.0.1:45123" }
    use_path_style = true
    access_key = "test"
    secret_key = "test"
    skip_credentials_validation = true
    skip_requesting_account_id = true
    skip_metadata_api_check = true
    dynamodb_table = "locks"
    use_lockfile = true
  }
