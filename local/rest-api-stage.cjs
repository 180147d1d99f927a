// A serverless plugin (serverless.yml `plugins`): writes `custom.restApiStage` into the REST API's stage, in the
// CloudFormation template itself. osls creates that stage through its Deployment resource, whose logical id
// changes on every package (ApiGatewayDeployment<instance id>), so `resources.extensions` cannot name it; its
// own stage settings (`provider.logs.restApi`, `apiGateway.metrics`) are applied by SDK calls after a deploy and
// know no throttling. The backend's per-route throttles (the total ceiling under the WAF) live here instead.
'use strict';

class RestApiStage {
  constructor(serverless) {
    this.hooks = {
      'after:package:compileEvents': () => {
        const settings = serverless.service.custom && serverless.service.custom.restApiStage;
        if (!settings) return;
        const resources = serverless.service.provider.compiledCloudFormationTemplate.Resources;
        const deployments = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Deployment');
        if (deployments.length !== 1) {
          throw new serverless.classes.Error(`custom.restApiStage: expected one REST API deployment in the template, found ${deployments.length}`);
        }
        deployments[0].Properties.StageDescription = settings;
      },
    };
  }
}

module.exports = RestApiStage;
