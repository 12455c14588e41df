/** SQL files are embedded as text at build time (tsup `loader: { '.sql': 'text' }`, a vite plugin in tests). */
declare module '*.sql' {
  const text: string;
  export default text;
}
