// Types of src/slim-client-node.js (plain JavaScript, loaded before the gateway).
export declare function useSlimClientNode(): void;
