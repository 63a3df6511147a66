// bottleneck/light is the build without Redis clustering (what plugin-throttling itself loads);
// it has the same API as the typed main entry.
declare module 'bottleneck/light.js' {
  import Bottleneck from 'bottleneck';
  export default Bottleneck;
}
