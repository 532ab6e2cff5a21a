// Bundles page.js with @knocklabs/client into one ES module for the page: node build.mjs <outfile>
import { build } from "esbuild";

await build({
  entryPoints: ["page.js"],
  bundle: true,
  format: "esm",
  target: "es2022",
  outfile: process.argv[2],
  logLevel: "warning",
});
