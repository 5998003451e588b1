  backend "http" {
    address        = "http://127.0.0.1:45124/state"
    lock_address   = "http://127.0.0.1:45124/lock"
    unlock_address = "http://127.0.0.1:45124/lock"
    username       = "user"
    password       = "pa55"
    retry_max      = 5
  }
