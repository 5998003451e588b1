locals {
  a = 1+2*3
  b = -1
  c = var.x? "y" :"z"
  d = [for s in var.list : upper(s) if s!= ""]
  e = {for k,v in var.map : k=>v...}
  f = aws_instance.web[*].id
  g = aws_instance.web.*.id
  h = length( var.list )>0&&!var.flag||true
  i = [ 1 , 2 , 3 , ]
  j = provider::aws::arn_parse( "arn:aws:s3:::b" )
  k = concat(var.a , var.b ...)
  l = var.m [ "key" ]
  m = (1 + 2) * -var.n
  n = a%b/c - -d
  o = [for x in [1,2]: x]
  p = {
    a = 1
    bb = 2
    ccc = { d = 1 }
  }
}
