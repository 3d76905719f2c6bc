# mrap-auditor change events, as a Terraform module (the CloudFormation template's twin,
# deploy/events/mrap-auditor-events.yaml): one rule and one queue in the provider's region.
# Instantiate it once per region that matters, each with a provider of that region (README,
# "Seeing changes in seconds").
terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}
