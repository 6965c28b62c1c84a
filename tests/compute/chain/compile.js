// Compiles Datatoken.sol with solc-js, OpenZeppelin's sources read from node_modules; prints {abi, bytecode}.
// Usage: node compile.js <node_modules folder>. paris: ganache 7's EVM predates PUSH0 and MCOPY.
const fs = require("fs");
const path = require("path");
const modules = process.argv[2];
const solc = require(path.join(modules, "solc"));
const input = {
  language: "Solidity",
  sources: { "Datatoken.sol": { content: fs.readFileSync(path.join(__dirname, "Datatoken.sol"), "utf8") } },
  settings: { evmVersion: "paris", optimizer: { enabled: true, runs: 200 }, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
};
const findImports = (name) => {
  try {
    return { contents: fs.readFileSync(path.join(modules, name), "utf8") };
  } catch (error) {
    return { error: `${name}: ${error.message}` };
  }
};
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((item) => item.severity === "error");
if (errors.length) {
  process.stderr.write(errors.map((item) => item.formattedMessage).join("\n"));
  process.exit(1);
}
const contract = output.contracts["Datatoken.sol"].Datatoken;
process.stdout.write(JSON.stringify({ abi: contract.abi, bytecode: contract.evm.bytecode.object, solc: solc.version() }));
