// `distil export-onnx`: a Hugging Face BERT / DistilBERT directory -> ONNX (src/infer/onnx_export.ts),
// written where transformers.js looks for it (`<dir>/onnx/model.onnx`, `model_quantized.onnx` for int8).
import { InvalidArgumentError, type Command } from 'commander';
import { exportOnnx, ONNX_FILES, ONNX_PRECISIONS, ONNX_TASKS, type OnnxPrecision, type OnnxTask } from '../infer/onnx_export.js';

function taskArg(v: string): OnnxTask {
  if (!(ONNX_TASKS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--task must be one of ${ONNX_TASKS.join(', ')}`);
  return v as OnnxTask;
}

function precisionArg(v: string): OnnxPrecision {
  if (!(ONNX_PRECISIONS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--precision must be one of ${ONNX_PRECISIONS.join(', ')}`);
  return v as OnnxPrecision;
}

export function registerExport(program: Command): void {
  program
    .command('export-onnx')
    .description('export a BERT / DistilBERT model directory to ONNX (opset 14; fp32, int8 or bf16 weights) for onnxruntime and transformers.js')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json + model.safetensors)')
    .option('--out <file>', 'ONNX file to write (default: <model>/onnx/ + the --precision file name)')
    .option('--task <task>', `head to export (${ONNX_TASKS.join(', ')}; default: from config.json architectures)`, taskArg)
    .option('--precision <p>',
      `weights: fp32 (${ONNX_FILES.fp32}, transformers.js dtype 'fp32'), int8 (dynamic quantization of the linear layers, `
      + `${ONNX_FILES.int8}, transformers.js dtype 'q8'), bf16 (bfloat16 weights, fp32 compute, ${ONNX_FILES.bf16}; onnxruntime only)`,
      precisionArg, 'fp32')
    .action((o: { model: string; out?: string; task?: OnnxTask; precision: OnnxPrecision }) => {
      const file = exportOnnx(o.model, { ...(o.out ? { outFile: o.out } : {}), ...(o.task ? { task: o.task } : {}), precision: o.precision });
      console.log(`wrote ${file}`);
    });
}
