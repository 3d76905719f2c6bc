#!/usr/bin/env bash
# Deploys deploy/events/mrap-auditor-events.yaml to every region that matters, as one
# CloudFormation StackSet (self-managed permissions: the AWSCloudFormationStackSetAdministrationRole
# and AWSCloudFormationStackSetExecutionRole of the StackSets guide must exist). An example to
# adapt, not run blindly: set ACCOUNT and the bucket and endpoint regions of your MRAPs.
#
# Regions: us-west-2, where every MRAP management call is logged (CreateMultiRegionAccessPoint,
# PutMultiRegionAccessPointPolicy, ...); the five regions that serve
# SubmitMultiRegionAccessPointRoutes (a route change is logged where it was served); each
# bucket's region (PutBucketPolicy, PutBucketPublicAccessBlock); each interface endpoint's region
# (ModifyVpcEndpoint); and the account-level PutPublicAccessBlock's region.
set -euo pipefail

ACCOUNT="${ACCOUNT:?set ACCOUNT to the account that owns the MRAPs}"
ROUTES_REGIONS="us-east-1 us-west-2 ap-southeast-2 ap-northeast-1 eu-west-1"
BUCKET_AND_ENDPOINT_REGIONS="${BUCKET_AND_ENDPOINT_REGIONS:-us-east-1 us-west-2}"
REGIONS=$(printf '%s\n' $ROUTES_REGIONS $BUCKET_AND_ENDPOINT_REGIONS | sort -u | tr '\n' ' ')

aws cloudformation create-stack-set \
    --stack-set-name mrap-auditor-events \
    --template-body file://deploy/events/mrap-auditor-events.yaml \
    --parameters ParameterKey=QueueName,ParameterValue=mrap-auditor-events \
    --region us-west-2

# shellcheck disable=SC2086 # one region per word
aws cloudformation create-stack-instances \
    --stack-set-name mrap-auditor-events \
    --accounts "$ACCOUNT" \
    --regions $REGIONS \
    --operation-preferences MaxConcurrentPercentage=100,FailureTolerancePercentage=0 \
    --region us-west-2

# The [events] section of the auditor's configuration, from the stack outputs.
echo "[events]"
printf 'queues = { '
sep=""
for region in $REGIONS; do
    url=$(aws cloudformation describe-stacks --region "$region" \
        --query "Stacks[?starts_with(StackName, 'StackSet-mrap-auditor-events')].Outputs[?OutputKey=='QueueUrl'].OutputValue | [0][0]" \
        --output text)
    printf '%s"%s" = "%s"' "$sep" "$region" "$url"
    sep=", "
done
printf ' }\n'
