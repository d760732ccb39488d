// msgpackr types its main entry only; the no-eval decoder has the same API.
declare module 'msgpackr/unpack-no-eval' {
  export { Unpackr, unpack } from 'msgpackr';
}
