import { beforeAll, describe, expect, it } from 'vitest';
import { checkTemplate, loadCfnSpec, type CfnSpec } from './cfn-spec';

let spec: CfnSpec;
beforeAll(async () => {
  spec = await loadCfnSpec();
});

const queue = (properties: Record<string, unknown>) => ({ Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: properties } } });

describe('checkTemplate', () => {
  it('accepts a conforming resource, intrinsic functions included', () => {
    const template = {
      Resources: {
        Table: {
          Type: 'AWS::DynamoDB::Table',
          DeletionPolicy: 'Retain',
          Properties: {
            TableName: { 'Fn::Join': ['-', ['t', { Ref: 'AWS::StackName' }]] },
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            Tags: [{ Key: 'team', Value: 'games' }],
          },
        },
      },
    };
    expect(checkTemplate(spec, template)).toEqual([]);
  });

  it('flags an unknown property and a missing required property', () => {
    const template = {
      Resources: {
        Table: {
          Type: 'AWS::DynamoDB::Table',
          Properties: { BillingMode: 'PAY_PER_REQUEST', TableNmae: 'typo' },
        },
      },
    };
    expect(checkTemplate(spec, template)).toEqual([
      { resource: 'Table', path: 'Properties.TableNmae', message: 'unknown property TableNmae' },
      { resource: 'Table', path: 'Properties.KeySchema', message: 'missing required property KeySchema' },
    ]);
  });

  it('flags problems inside nested property types and lists', () => {
    const template = {
      Resources: {
        Table: {
          Type: 'AWS::DynamoDB::Table',
          Properties: {
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            GlobalSecondaryIndexes: [{ IndexName: 'gsi', KeySchema: [{ AttributeName: 'x', KeyType: 'HASH', Extra: 1 }] }],
            TimeToLiveSpecification: 'expiresAt',
          },
        },
      },
    };
    expect(checkTemplate(spec, template)).toEqual([
      { resource: 'Table', path: 'Properties.GlobalSecondaryIndexes[0].KeySchema[0].Extra', message: 'unknown property Extra' },
      { resource: 'Table', path: 'Properties.GlobalSecondaryIndexes[0].Projection', message: 'missing required property Projection' },
      { resource: 'Table', path: 'Properties.TimeToLiveSpecification', message: 'expected an object' },
    ]);
  });

  it('flags an unknown resource type and an unknown resource attribute', () => {
    const template = {
      Resources: {
        Topic: { Type: 'AWS::SNS::Topics', Properties: {} },
        Queue: { ...queue({}).Resources.Queue, DeletionPolicies: 'Retain' },
      },
    };
    expect(checkTemplate(spec, template)).toEqual([
      { resource: 'Topic', path: 'Type', message: 'unknown resource type AWS::SNS::Topics' },
      { resource: 'Queue', path: 'DeletionPolicies', message: 'unknown resource attribute DeletionPolicies' },
    ]);
  });

  it('accepts a JSON-typed property given as an object', () => {
    expect(checkTemplate(spec, queue({ RedrivePolicy: { deadLetterTargetArn: 'arn', maxReceiveCount: 5 } }))).toEqual([]);
  });
});
