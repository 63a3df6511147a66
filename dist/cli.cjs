#!/usr/bin/env node
"use strict";var a=class extends Error{input;location;constructor(r,n={}){super(r,n.cause===void 0?void 0:{cause:n.cause}),this.name=new.target.name,this.input=n.input,this.location=n.location}},o=class extends a{code="usage"};var u=require("node:util");function c(e,r){try{let{values:n,positionals:i}=(0,u.parseArgs)({args:r,options:{...e.options,help:{type:"boolean",short:"h"}},allowPositionals:e.allowPositionals??!1,strict:!0});return{values:n,positionals:i}}catch(n){let i=n instanceof Error?n.message:String(n);throw new o(`${e.name}: ${i.replace(/\. To specify.*$/s,"")}`)}}var g="0.1.0",d=[];function p(){let e=Math.max(0,...d.map(r=>r.name.length));return["gitops-release: build the image, then release it into the GitOps manifest repository.","","Usage: gitops-release <command> [options]","","Commands:",...d.map(r=>`  ${r.name.padEnd(e)}  ${r.summary}`),"","Run 'gitops-release <command> --help' for a command's options.",""].join(`
`)}async function l(e,r){let[n,...i]=e;if(n===void 0||n==="--help"||n==="-h"||n==="help")return r.stdout(p()),n===void 0?2:0;if(n==="--version"||n==="-v")return r.stdout(`${g}
`),0;let t=d.find(s=>s.name===n);if(!t)return r.stderr(`error: unknown command "${n}"

${p()}`),2;try{let s=c(t,i);return s.values.help?(r.stdout(t.help.endsWith(`
`)?t.help:`${t.help}
`),0):await t.run(s,r)}catch(s){return f(s,r,t)}}function f(e,r,n){return e instanceof o?(r.stderr(`error: ${e.message}
Run 'gitops-release ${n.name} --help' for usage.
`),2):e instanceof a?(r.stderr(`error: ${e.message}
`),1):(r.stderr(`error: ${e instanceof Error?e.stack??e.message:String(e)}
`),1)}l(process.argv.slice(2),{stdout:e=>process.stdout.write(e),stderr:e=>process.stderr.write(e),env:process.env,cwd:process.cwd()}).then(e=>{process.exitCode=e},e=>{process.stderr.write(`error: ${String(e)}
`),process.exitCode=1});
